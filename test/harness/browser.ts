import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { requireTool } from './requirement.ts';

/** Debian's Chromium, or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether a browser test can run here (skipped outside CI without one; failed under CI). */
export function hasChromium(test: string): boolean {
  return requireTool(
    existsSync(CHROMIUM),
    test,
    `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/** Headless Chromium with its background services off: this machine has no network beyond loopback. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
