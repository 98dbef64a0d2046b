/** Thrown by a port when the failure is the plumbing's (bus down, service gone), not the role's. */
export class InfrastructureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfrastructureError';
  }
}
