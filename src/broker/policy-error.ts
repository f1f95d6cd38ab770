// Errors the broker hands to aedes on purpose (a refused login, a refused PUBLISH, a limit): they
// come back through aedes' 'clientError' event and were already logged when they were made.
const POLICY_ERROR = Symbol('gatehouse.policyError');

export function policyError(message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), extra, { [POLICY_ERROR]: true });
}

/** A login refusal in the shape aedes' authenticate callback takes: the CONNACK return code rides along. */
export function loginRefusedError(reason: string, returnCode: number): Error & { returnCode: number } {
  return policyError(`login refused: ${reason}`, { returnCode }) as Error & { returnCode: number };
}

export function isPolicyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[POLICY_ERROR] === true;
}
