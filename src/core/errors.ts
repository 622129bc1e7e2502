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

/**
 * A program's output made safe to put in a message: terminal escape sequences (colours, cursor moves, title
 * changes, screen clears) and other control characters removed, so a target cannot drive the user's terminal
 * through our errors. Tabs stay; newlines stay only when `keepNewlines`.
 */
export function printableOutput(text: string, keepNewlines = false): string {
  const plain = text
    // CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/PM/APC strings, then any other two-byte ESC sequence.
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[\]P^_][\s\S]*?(?:\x07|\x1b\\|$)/g, '')
    .replace(/\x1b[ -~]?/g, '')
    .replace(/\x9b[0-?]*[ -/]*[@-~]/g, '');
  return keepNewlines ? plain.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '') : plain.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, '');
}
