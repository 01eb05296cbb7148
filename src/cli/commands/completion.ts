import { completionScript, SHELLS, type Shell } from "../completion-script.ts";
import { UsageError, type Command } from "../command.ts";

/** `fawkes completion SHELL`; `commands` gives the table it completes (main's, which holds this command too). */
export function completionCommand(commands: () => readonly Command[]): Command {
  return {
    name: "completion",
    summary: "Print the shell completion script for bash or zsh: commands, verbs, flags, and the project's apps, stacks, releases, hosts and backups.",
    usage: "fawkes completion SHELL",
    help: `SHELL is bash or zsh. The script goes to stdout:

  bash   source <(fawkes completion bash)                       (in ~/.bashrc)
  zsh    fawkes completion zsh > ~/.zsh/completions/_fawkes     (a dir in $fpath, before compinit)
         or source <(fawkes completion zsh)                     (in ~/.zshrc, after compinit)

The script is made from the command table: commands, group verbs and each command's flags. Names
are asked of fawkes at TAB time (fawkes __complete KIND), from this machine only: apps from the
catalogue, stacks from the stack files, releases from the local artifact store, hosts and backups
from $FAWKES_HOME; where one cannot be read, nothing is offered.

Exit codes: 0 printed; 2 usage error (no shell, or one other than bash and zsh).`,
    options: {},
    positionals: { min: 1, max: 1, args: [{ name: "SHELL" }] },
    async run({ positionals }, io) {
      const shell = positionals[0]!;
      if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`SHELL ${JSON.stringify(shell)}: fawkes completes ${SHELLS.join(" and ")}; give one of them`);
      io.out(completionScript(shell as Shell, commands()));
      return 0;
    },
  };
}
