import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { createLatencyHistogram } from '../../src/http/latency-histogram.js';

// The request-latency histogram is counted by hand (src/http/latency-histogram.ts). A scraper must
// not tell it from prom-client's own: the same observations give the same exposition text.

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const NAME = 'capsule_http_request_duration_seconds';
const HELP = 'Time to answer a request, by method, route pattern and status class.';

describe('the hand-counted latency histogram', () => {
  it('gives the exposition text a prom-client Histogram gives for the same observations', async () => {
    const ours = new Registry();
    const reference = new Registry();
    const latency = createLatencyHistogram(ours, { name: NAME, help: HELP, buckets: BUCKETS });
    const histogram = new Histogram({ name: NAME, help: HELP, labelNames: ['method', 'route', 'status'] as const, buckets: BUCKETS, registers: [reference] });
    const observations: Array<[string, string, string, number]> = [
      ['GET', '/content/*', '2xx', 0.0004],
      ['GET', '/content/*', '2xx', 0.001], // on a bound: counted in that bucket (le is "less or equal")
      ['GET', '/content/*', '2xx', 0.0011],
      ['GET', '/content/*', '4xx', 0.03],
      ['POST', '/j_security_check', '4xx', 7], // past every bound: +Inf only
      ['GET', 'unmatched', '4xx', 0.2],
    ];
    for (const [method, route, status, seconds] of observations) {
      latency.observe(method, route, status, seconds);
      histogram.observe({ method, route, status }, seconds);
    }
    assert.equal(await ours.metrics(), await reference.metrics());
    assert.match(await ours.metrics(), /capsule_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/content\/\*",status="2xx"\} 2/);

    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /_count/, 'reset empties it');
  });
});
