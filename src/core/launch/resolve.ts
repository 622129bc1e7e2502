// Checks a target command before spawning, so the user gets "not found / a directory / not executable" with the
// path we tried, instead of a bare ENOENT or EACCES from spawn.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { TargetError } from '../errors';
import { pathDirs } from '../os/which';

type Problem = 'missing' | 'directory' | 'not-executable' | 'not-a-program' | null;

function problemOf(file: string): Problem {
  let st;
  try {
    st = statSync(file);
  } catch {
    return 'missing';
  }
  if (st.isDirectory()) return 'directory';
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'not-executable';
  }
  // Root passes X_OK for any file with one execute bit; a file with none is still not runnable.
  if ((st.mode & 0o111) === 0) return 'not-executable';
  // execvp would hand such a file to /bin/sh (its ENOEXEC fallback): a shell we never meant to run.
  if (!startsLikeProgram(file)) return 'not-a-program';
  return null;
}

function startsLikeProgram(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    return (n >= 4 && head.readUInt32BE(0) === 0x7f454c46) || (n >= 2 && head[0] === 0x23 && head[1] === 0x21);
  } catch {
    // Unreadable but executable (mode 711): let the kernel decide.
    return true;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function explain(file: string, problem: Exclude<Problem, null>, cwd: string): string {
  switch (problem) {
    case 'missing':
      return `The target program ${file} does not exist. Check target.command (a relative path is resolved against ${cwd}); build the program first if it is yours.`;
    case 'directory':
      return `The target program ${file} is a directory, not a program. Point target.command at the executable inside it.`;
    case 'not-a-program':
      return `The target program ${file} is neither a compiled program (ELF) nor a script starting with #!. Point target.command at the real program, or add a #! line to the script.`;
    case 'not-executable':
      return `The target program ${file} is not executable. Make it executable with \`chmod +x ${file}\`, or run its interpreter as the command.`;
  }
}

/** Checks the command before spawning: not found, a directory, not executable -> TargetError with what to do. Searches PATH for bare names; relative paths against cwd. */
export function resolveExecutable(command: string, cwd: string, envPath?: string): string {
  if (!command.trim()) throw new TargetError('The target command is empty. Set target.command to the program to run.', 'input');
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    const problem = problemOf(file);
    if (problem) throw new TargetError(explain(file, problem, cwd), 'input');
    return file;
  }
  const dirs = pathDirs(envPath ?? process.env.PATH);
  let firstProblem: { file: string; problem: Exclude<Problem, null> } | null = null;
  for (const dir of dirs) {
    const file = path.resolve(cwd, dir, command);
    const problem = problemOf(file);
    if (!problem) return file;
    if (problem !== 'missing' && !firstProblem) firstProblem = { file, problem };
  }
  if (firstProblem) throw new TargetError(explain(firstProblem.file, firstProblem.problem, cwd), 'input');
  throw new TargetError(
    `The target program "${command}" was not found on PATH (${dirs.map((d) => d || '.').join(':') || 'empty'}). Give its absolute path, or a path relative to ${cwd} such as ./${command}.`,
    'input',
  );
}
