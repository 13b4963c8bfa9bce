import { defineComponent, property } from '../config/index.js';

export const METRICS_PID = 'capsule.metrics';

export const metricsComponent = defineComponent({
  pid: METRICS_PID,
  title: 'Metrics',
  description: 'Who may read GET /system/metrics (Prometheus text format) besides administrators.',
  properties: {
    'scrape.token': property.secret({
      title: 'Scrape token',
      description:
        'A bearer token for Prometheus (Authorization: Bearer TOKEN); encrypted with the master key when written, compared in constant time. Unset: administrators only.',
    }),
  },
});
