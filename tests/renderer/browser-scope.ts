/**
 * The few browser globals that code inside page.evaluate / addInitScript callbacks uses,
 * typed just enough. The root tsconfig has no DOM lib (and adding it would change the
 * types of the Node code around it), so callbacks read globals through
 * `globalThis as unknown as BrowserScope`; the cast is erased, and in the browser
 * globalThis is window.
 */
export interface BrowserEl {
  id: string;
  tagName: string;
  textContent: string | null;
  querySelector(selector: string): BrowserEl | null;
  getAttribute(name: string): string | null;
}

export interface BrowserScope {
  document: {
    activeElement: BrowserEl | null;
    documentElement: { scrollWidth: number; clientWidth: number };
    getElementById(id: string): BrowserEl | null;
    addEventListener(type: 'securitypolicyviolation', listener: (e: { violatedDirective: string; blockedURI: string }) => void): void;
  };
  getComputedStyle(el: BrowserEl): { outlineStyle: string };
}

export type Globals = Record<string, unknown>;
