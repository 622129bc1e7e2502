// Schema pieces the scenario and the load drivers share (kept apart so drivers need not import scenario.ts).
import { z } from 'zod';
import { DurationTooLongError, parseDuration } from '../units';

function withinMaximum(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch (e) {
    return !(e instanceof DurationTooLongError); // the regex reports the format
  }
}

export const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as "500ms", "30s", "2m"')
  .refine(withinMaximum, 'at most 7 days (168h): longer timers would fire at once')
  .describe('A duration: a number followed by ms, s, m or h, e.g. "500ms", "30s", "2m".');

export const listSource = z
  .union([
    z.array(z.string()).min(1).describe('The values, inline.'),
    z
      .object({ file: z.string().min(1).describe('A .csv (one value per non-empty line) or .json (an array) file, relative to the scenario file.') })
      .strict(),
  ])
  .describe('Values for {{list NAME}}: an array of strings, or { "file": "values.csv" | "values.json" }.');

export const listsSchema = z
  .record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'a list name: letters, digits, dash, underscore'), listSource)
  .describe('Named value lists used by {{list NAME}} in request templates.');

export type ListSource = z.infer<typeof listSource>;
