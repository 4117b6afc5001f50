/**
 * A tray-side channel client in its own process, for machine-agent.e2e.test.ts: the test
 * starts it as another user (setpriv), reads what it sees as JSON lines on stdout, and
 * sends it requests as JSON lines on stdin. Uses the real client and the real claim for
 * the account it runs as.
 */
import * as readline from 'node:readline';
import { LocalChannelClient } from '../../../src/core/local-channel/channel-client.js';
import { ownClaim, readChallenge } from '../../../src/core/local-channel/peer-proof.js';
import { silentLogger } from '../../../src/core/logging/logger.js';

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const client = new LocalChannelClient({
  path: process.argv[2]!,
  claim: ownClaim,
  readSecret: readChallenge,
  logger: silentLogger,
  retryMs: 200,
  maxRetryMs: 400,
  onState: (state) => out({ event: 'state', state }),
  onStatus: (status) => out({ event: 'status', ...status }),
});
void client.start();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const { tag, ...body } = JSON.parse(line) as { tag: string } & Record<string, unknown>;
  // A scan on a loaded machine can take a while; the test bounds the wait itself.
  client.request(body, 120_000).then(
    (message) => out({ event: 'reply', tag, message }),
    (e: Error & { code?: string }) => out({ event: 'reply', tag, error: { name: e.name, code: e.code, message: e.message } }),
  );
});
process.stdin.on('end', () => void client.stop().then(() => process.exit(0)));
