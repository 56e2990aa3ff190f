// Entry point: `node src/main.js`, configured only by environment variables.
import { ConfigError, loadConfig } from './config.js';
import { createWsServer, jsonLogger } from './server.js';

const log = jsonLogger();
let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  log('error', `configuration error: ${err.message}`);
  process.exit(2);
}

const server = createWsServer(config, { log });
await server.listen();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log('info', `received ${signal}, shutting down`);
    await server.close();
    process.exit(0);
  });
}
