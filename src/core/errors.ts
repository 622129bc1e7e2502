// Errors a user can hit. Each message says what went wrong and what to do next.

/**
 * What kind of problem an error is: the user's input (a scenario, an argument, a path), the machine (a missing
 * tool, library or permission), or the run itself failing. Only the CLI turns a kind into an exit code.
 */
export type ErrorKind = 'input' | 'environment' | 'failure';

/** Base of every error meant for the user; its kind says whose move it is. */
export class AlloclabError extends Error {
  constructor(message: string, readonly kind: ErrorKind = 'failure') {
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
    super(`${file}:${line}:${column}: ${detail}`, 'input');
  }
}

export class AllocatorNotFoundError extends AlloclabError {
  constructor(readonly id: string, known: string[]) {
    super(`Unknown allocator environment "${id}". Known: ${known.join(', ')}. Run \`alloclab allocators\` to see which are available.`, 'input');
  }
}

export class TargetError extends AlloclabError {}

export class CancelledError extends AlloclabError {
  constructor() {
    super('Cancelled.', 'failure');
  }
}
