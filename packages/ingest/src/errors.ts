/** Errors the CLI reports as a message and an exit status, without a stack trace. */
export class IngestError extends Error {
  constructor(
    message: string,
    /** Process exit status: 2 for bad input, 3 for a storage failure. */
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

/** Duplicate ids found in the input: the ingest refuses them rather than pick one row. */
export class DuplicateIdsError extends IngestError {
  constructor(
    readonly duplicateIds: number,
    readonly examples: readonly { id: string; count: number }[],
  ) {
    super(
      `${duplicateIds} id(s) occur more than once; examples: ${examples.map((e) => `${e.id} (×${e.count})`).join(', ')}`,
    );
    this.name = 'DuplicateIdsError';
  }
}
