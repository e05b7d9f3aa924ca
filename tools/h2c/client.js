// The client side of pcaps/h2c.pcap: one prior-knowledge h2 connection
// carrying the requests below one after the other (stream ids 1, 3, 5, ...).
'use strict';
const http2 = require('http2');
const port = Number(process.argv[2]);
const ORIGIN = 'http://app.example:8080';
const reqs = [
  { ':method': 'GET', ':path': '/ok', 'origin': ORIGIN },
  { ':method': 'GET', ':path': '/missing', 'origin': ORIGIN },
  { ':method': 'GET', ':path': '/dup', 'origin': ORIGIN },
  { ':method': 'OPTIONS', ':path': '/put', 'origin': ORIGIN,
    'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token' },
  { ':method': 'PUT', ':path': '/put', 'origin': ORIGIN, 'x-token': '1', 'content-type': 'text/plain' },
  { ':method': 'GET', ':path': '/early', 'origin': ORIGIN },
  { ':method': 'GET', ':path': '/reset', 'origin': ORIGIN },
  { ':method': 'GET', ':path': '/same', 'origin': 'http://api.example:' + port },
];
const c = http2.connect('http://127.0.0.1:' + port);
c.on('error', () => {});
(async () => {
  for (const h of reqs) {
    h[':authority'] = 'api.example:' + port;
    await new Promise((done) => {
      const s = c.request(h, { endStream: h[':method'] !== 'PUT' });
      if (h[':method'] === 'PUT') s.end('x');
      s.on('response', () => {});
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', done);
    });
  }
  c.close();
})();
