// Errors a user can hit. Each message says what went wrong and what to do next.

/** Base of every error meant for the user (CLI exit code 2 for input errors, 1 for run failures). */
export class AlloclabError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 1) {
    super(message);
    this.name = new.target.name;
  }
}

/** A problem in a scenario file, with its position (1-based line and column). */
export class ScenarioError extends AlloclabError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`, 2);
  }
}

export class AllocatorNotFoundError extends AlloclabError {
  constructor(readonly id: string, known: string[]) {
    super(`Unknown allocator environment "${id}". Known: ${known.join(', ')}. Run \`alloclab allocators\` to see which are available.`, 2);
  }
}

export class TargetError extends AlloclabError {}

export class CancelledError extends AlloclabError {
  constructor() {
    super('Cancelled.', 1);
  }
}
