// start.mjs: run CongoDB (MongoDB wire protocol, in memory) on 127.0.0.1:PORT for the integration stage.
// usage: node ci/congo/start.mjs PORT   (ci/adapters-integration.sh installs vendor/ and node_modules/)
import { CongoServer } from './vendor/package/dist_ts/congodb/index.js';

const port = Number(process.argv[2] || 27117);
const s = new CongoServer({ host: '127.0.0.1', port });
await s.start();
console.log(`congodb listening on 127.0.0.1:${port}`);
const stop = async () => { await s.stop(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
