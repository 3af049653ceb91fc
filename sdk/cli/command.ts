/** What every `streaming` command is: its name, what it does, the options it takes, and its run. */
import { type OptionName, optionHelp, parseOptions } from './options.js';

export interface Command<N extends OptionName = OptionName> {
  readonly name: string;
  /** What follows `streaming <name>` in the usage line. */
  readonly synopsis: string;
  /** One paragraph on what the command does. */
  readonly description: string;
  /** The options it takes, in help order (from the one table in options.ts). */
  readonly options: readonly N[];
  /** Runs the command; returns the exit code. */
  run(argv: string[]): Promise<number>;
}

/** The command's help text, built from its synopsis and the option table. */
export function usage(command: Command): string {
  return `Usage: streaming ${command.name} ${command.synopsis}\n\n${command.description}\n\nOptions:\n${optionHelp(command.options)}\n`;
}

/** Parses the command's options; `--help` prints its usage and returns undefined (exit 0). */
export function parseCommand<N extends OptionName>(command: Command<N>, argv: string[]) {
  const parsed = parseOptions(argv, command.options);
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage(command as unknown as Command));
    return undefined;
  }
  return parsed;
}
