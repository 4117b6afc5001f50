/**
 * Tests that drop privileges (setpriv to "nobody" or a test user) run this checkout's
 * sources in the child process, so the unprivileged user must be able to reach them:
 * every folder from / down to the checkout needs the "others may enter" bit. A clone made
 * inside `mktemp -d` (mode 0700) breaks that, and those tests would fail with EACCES from
 * tsx for a reason that has nothing to do with the product.
 *
 * Such a test declares `needsCheckoutOthersCanRead()`; when the checkout is out of reach it
 * is skipped with one line naming the folder (the system-tool reporter counts it), under
 * CI too: unlike a missing tool, this is where the clone was made, not something CI can
 * install (a `mktemp -d` clone is a common way to try `.ci/run`).
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { TestOptions } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Set on a test skipped because something other than a tool is missing; says what. */
    unmetPrecondition?: string;
  }
}

/** The first folder from `dir` up to the root that other users may not enter, or undefined. */
export function folderOthersCannotEnter(dir: string, mode: (p: string) => number = (p) => statSync(p).mode): string | undefined {
  let at = path.resolve(dir);
  for (;;) {
    if ((mode(at) & 0o001) === 0) return at;
    const up = path.dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}

/** The decision, pure: skip, saying why, when `blocked` names a folder. */
export function checkoutAccessOptions(blocked: string | undefined): TestOptions {
  if (blocked === undefined) return {};
  const why = `runs code as another user, who cannot enter ${blocked} (mode 0${(statModeOr0(blocked) & 0o777).toString(8)}); clone into a folder others can read`;
  return { skip: true, meta: { unmetPrecondition: why } };
}

function statModeOr0(p: string): number {
  try {
    return statSync(p).mode;
  } catch {
    return 0;
  }
}

/** Options for `describe`/`it`: the checkout must be reachable by an unprivileged user. */
export function needsCheckoutOthersCanRead(): TestOptions {
  return checkoutAccessOptions(folderOthersCannotEnter(process.cwd()));
}
