// Types for the gate's pure parts, so tests that import them stay strict.
export interface GateFinding {
  rule: string;
  file: string;
  line: number;
  level: string;
  severity: string;
  confidence: string;
  message: string;
}
export declare const ALLOWED: Set<string>;
export declare const FAILING: Set<string>;
export declare const SEVERITIES: Set<string>;
export declare function parseCsv(text: string): Record<string, string>[];
export declare function joinReports(sarif: unknown, csv: Record<string, string>[]): GateFinding[];
export declare function gate(opts?: { input?: string; outDir?: string }): Promise<{ exitCode: number; findings: GateFinding[]; failing: GateFinding[]; sarifPath: string; error?: string }>;
