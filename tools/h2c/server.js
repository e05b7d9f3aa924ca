// A tiny cleartext HTTP/2 (prior knowledge) server with CORS answers per
// path, for recording pcaps/h2c.pcap (see record.sh).  Node's own http2
// module (nghttp2 inside), so the frames are what real h2 software sends.
'use strict';
const http2 = require('http2');
const port = Number(process.argv[2]);
const server = http2.createServer();
server.on('stream', (stream, h) => {
  stream.on('error', () => {});
  const path = h[':path'];
  const origin = h['origin'];
  const send = (hdrs, body) => {
    if (hdrs[':status'] === 204) return stream.respond(hdrs, { endStream: true });
    stream.respond(hdrs);
    stream.end(body || '');
  };
  if (path === '/ok')
    send({ ':status': 200, 'access-control-allow-origin': origin, 'vary': 'Origin' }, 'ok');
  else if (path === '/missing')
    send({ ':status': 200, 'content-type': 'text/plain' }, 'no cors');
  else if (path === '/dup')   // two fields: h2 keeps them separate, names lower case
    send({ ':status': 200, 'access-control-allow-origin': [origin, origin] }, 'dup');
  else if (path === '/put' && h[':method'] === 'OPTIONS')
    send({ ':status': 204, 'access-control-allow-origin': origin,
           'access-control-allow-methods': 'PUT', 'access-control-allow-headers': 'x-token' });
  else if (path === '/put')
    send({ ':status': 200, 'access-control-allow-origin': origin }, 'put');
  else if (path === '/early') {
    stream.additionalHeaders({ ':status': 103, 'link': '</s.css>; rel=preload' });
    send({ ':status': 200, 'access-control-allow-origin': '*' }, 'early');
  } else if (path === '/reset')
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);   // RST_STREAM, no response
  else
    send({ ':status': 404 });
});
server.listen(port, '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
