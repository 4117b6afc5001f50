/**
 * Every refusal the server makes: an HTTP status, a protocol error code, and a message that
 * helps the caller without echoing secrets or request bodies back.
 */
import type { z } from 'zod';
import type { ErrorBody, ErrorCode } from '../shared/protocol.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: { issues?: Array<{ path: string; message: string }>; retryAfterSec?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

const MAX_ISSUES = 20;

export function invalidRequest(error: z.ZodError): ApiError {
  const issues = error.issues.slice(0, MAX_ISSUES).map((i) => ({
    path: i.path.length ? i.path.map(String).join('.') : '(body)',
    message: i.message,
  }));
  const first = issues[0];
  return new ApiError(400, 'invalid_request', first ? `the request does not match the schema: ${first.path}: ${first.message}` : 'the request does not match the schema', { issues });
}
