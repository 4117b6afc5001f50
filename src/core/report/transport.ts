/**
 * The HTTP transport the reporter is given: the part of `fetch` it uses. Node's global
 * fetch (the CLI), node-fetch, Electron's `net.fetch` (the tray app: system proxy, PAC,
 * NTLM, OS certificate store) and test doubles all fit, so proxies and servers plug in
 * without the reporter knowing.
 */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
}

export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>;
