/**
 * Why queued work was refused or dropped. The HTTP layer maps each reason to one problem type
 * (`overloaded` → 503, `deadline_exceeded` → 504, `not_ready` → 503); `client_gone` has no listener left.
 */
export type RejectionReason = 'overloaded' | 'deadline_exceeded' | 'client_gone' | 'not_ready';

export class QueueRejection extends Error {
  override name = 'QueueRejection';
  constructor(
    readonly reason: RejectionReason,
    message: string,
  ) {
    super(message);
  }
}
