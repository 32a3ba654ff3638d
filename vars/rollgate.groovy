// rollgate for Jenkins shared-library users: runs jenkins-shim/rollgate.sh (carried as the library
// resource io/rollgate/rollgate.sh) with `sh` and returns rollgate's exit code. Load the library
// (this repository, at a release tag) with @Library('rollgate@v0.1.0') _ and call:
//
//   int code = rollgate(workflow: 'rollgate.yml', args: ['--input', "version=${params.VERSION}"])
//   int code = rollgate(workflow: 'rollgate.yml', gate: [submitter: 'release-managers', timeout: 4])
//   rollgate(command: 'audit', args: ['verify', '.rollgate/audit'])
//
// Arguments:
//   command   validate, plan, run (default), resume or audit
//   workflow  the workflow file: the FILE of validate, plan and run; --workflow of resume (the
//             journal records an absolute path, which another agent or workspace does not have)
//   state     the run journal (--state of run and resume; rollgate's default .rollgate/run.json)
//   args      more arguments, a List, passed as they are
//   cli       ROLLGATE_CLI for the shim: the self-contained rollgate.mjs, or a command; default:
//             rollgate on PATH, else npx rollgate at the shim's pinned version
//   gate      when rollgate stops at a gate (exit 3): ask with an `input` step and resume with the
//             answer, gate after gate. true, or a Map: message, id, ok, submitter (users and
//             groups, comma-separated), timeout (default 24) and unit (default 'HOURS'). Without
//             it, 3 is returned and the Jenkinsfile asks (see examples/jenkins/Jenkinsfile.example,
//             which waits without holding an executor: this step waits inside the caller's node).
//   label     the `sh` step's label (default: "rollgate COMMAND")
//
// Exit codes: 0 succeeded, 1 failed and rolled back, 2 invalid input, 3 paused at a gate,
// 4 manual intervention, 5 journal not recorded, 6 audit incomplete, 130 cancelled. The step
// never fails the build itself: what a code means for the build is the caller's to say.
// Secrets: bind them with withCredentials around the call; the workflow names the variables.

def call(Map args = [:]) {
  String command = args.command ?: 'run'
  List<String> argv = [command]
  if (args.workflow && command in ['validate', 'plan', 'run']) argv << args.workflow.toString()
  if (args.workflow && command == 'resume') argv += ['--workflow', args.workflow.toString()]
  if (args.state && command in ['run', 'resume']) argv += ['--state', args.state.toString()]
  argv += strings(args.args ?: [])

  int code = shim(argv, args)
  while (code == 3 && args.gate) {
    Map decision = ask(args.gate instanceof Map ? args.gate : [:])
    List<String> resume = ['resume', decision.approve ? '--approve' : '--reject', '--by', decision.by, '--comment', decision.comment]
    if (args.workflow) resume += ['--workflow', args.workflow.toString()]
    if (args.state) resume += ['--state', args.state.toString()]
    code = shim(resume, args)
    // Aborted or timed out: the gate is rejected above; now the build ends as Jenkins ended it.
    if (decision.interruption) throw decision.interruption
  }
  return code
}

/** Writes the shim beside the workspace (in its @tmp folder) and runs it; returns the exit code. */
private int shim(List<String> argv, Map args) {
  String path = "${pwd(tmp: true)}/rollgate/rollgate.sh"
  writeFile(file: path, text: libraryResource('io/rollgate/rollgate.sh'))
  // Every argument single-quoted for the shell: a comment typed into the gate's form is data,
  // never shell code. No Groovy-interpolated secrets: they stay in the environment.
  String script = quoted(['bash', path] + argv)
  List<String> environment = args.cli ? ["ROLLGATE_CLI=${args.cli}".toString()] : []
  int code = 0
  withEnv(environment) {
    code = sh(script: script, returnStatus: true, label: args.label ?: "rollgate ${argv[0]}")
  }
  return code
}

// Closures over lists stay out of CPS-transformed code: plain Groovy here.
@NonCPS
private static List<String> strings(List values) {
  return values.collect { it.toString() }
}

@NonCPS
private static String quoted(List<String> words) {
  return words.collect { "'" + it.replace("'", "'\"'\"'") + "'" }.join(' ')
}

/**
 * The gate: an `input` whose approver Jenkins records (submitterParameter), with approve or
 * reject and a comment for the audit trail. Aborted, or unanswered within the timeout, the gate
 * is rejected: a run never stays paused with nobody left to decide.
 */
private Map ask(Map gate) {
  Map answer
  try {
    timeout(time: gate.timeout ?: 24, unit: gate.unit ?: 'HOURS') {
      answer = input(
        id: gate.id ?: 'RollgateGate',
        message: gate.message ?: 'rollgate is waiting at a gate: continue the rollout?',
        ok: gate.ok ?: 'Decide',
        submitter: gate.submitter,
        submitterParameter: 'ROLLGATE_BY',
        parameters: [
          choice(name: 'ROLLGATE_DECISION', choices: ['approve', 'reject'], description: 'approve continues the rollout; reject ends it here'),
          string(name: 'ROLLGATE_COMMENT', defaultValue: '', description: 'Why: recorded in the audit trail'),
        ])
    }
  } catch (org.jenkinsci.plugins.workflow.steps.FlowInterruptedException e) {
    String who = interrupter(e)
    if (who == 'timeout') {
      return [approve: false, by: 'jenkins', comment: "nobody answered the gate within ${gate.timeout ?: 24} ${gate.unit ?: 'HOURS'}".toString(), interruption: e]
    }
    return [approve: false, by: who, comment: 'the gate was aborted in Jenkins', interruption: e]
  }
  String decision = answer.ROLLGATE_DECISION
  String comment = answer.ROLLGATE_COMMENT ?: "${decision == 'approve' ? 'approved' : 'rejected'} in Jenkins"
  return [approve: decision == 'approve', by: answer.ROLLGATE_BY.toString(), comment: comment.toString()]
}

/** Who aborted the gate ('timeout' when nobody answered in time), or 'jenkins' when unknown. */
@NonCPS
private static String interrupter(Throwable e) {
  try {
    for (def cause : e.causes) {
      if (cause.getClass().simpleName == 'ExceededTimeout') return 'timeout'
      // input's Rejection has getUser(); an aborted build's UserInterruption has getUserId().
      def id = cause.metaClass.respondsTo(cause, 'getUserId') ? cause.userId : cause.user?.id
      if (id) return id.toString()
    }
  } catch (Exception ignored) {
    // A sandboxed (folder-level) library may not read the causes; the audit trail says 'jenkins'.
  }
  return 'jenkins'
}
