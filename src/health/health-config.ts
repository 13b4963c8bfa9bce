import { defineComponent, property } from '../config/index.js';

export const HEALTH_PID = 'capsule.health';

export const healthComponent = defineComponent({
  pid: HEALTH_PID,
  title: 'Health Checks',
  description: 'How often the health checks run in the background.',
  properties: {
    'interval.seconds': property.integer({
      title: 'Check interval (seconds)',
      description: 'Every health check runs at start, on a configuration change and then this often.',
      default: 60,
      min: 1,
      max: 86_400,
    }),
  },
});
