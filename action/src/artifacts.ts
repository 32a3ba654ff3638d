import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * Uploads the run's journal and audit trail as one artifact with `@actions/artifact`, so the job
 * after a gate can download the journal and go on, and the trail outlives the runner. Loaded only
 * by the post step: the artifact client (and the Azure SDK under it) never slows a run's start.
 */
export type UploadOutcome =
  | { uploaded: true; id?: number; size?: number; files: string[] }
  | { uploaded: false; reason: string; files: string[] };

/** An upload that failed for a reason other than "no artifact service here"; the step fails. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
}

export interface UploadRequest {
  name: string;
  files: string[];
  /** The workspace: files under it keep their workspace-relative paths in the artifact. */
  workspace: string;
  retentionDays?: number;
  /** From the runner's variables: whether there is an artifact service, and whether it is GHES. */
  artifactService: boolean;
  ghes: boolean;
}

export async function uploadRunFiles(req: UploadRequest): Promise<UploadOutcome> {
  const files = [...new Set(req.files.map((f) => resolve(f)))].filter((f) => existsSync(f));
  if (files.length === 0) return { uploaded: false, reason: 'there is no journal or audit file to upload', files };
  if (!req.artifactService) {
    return {
      uploaded: false,
      reason: 'no artifact service in this job (ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL are not set: not a GitHub Actions runner?); keep the files with a step of your own',
      files,
    };
  }
  // Said before the client is called: it would first print a warning of its own ("errors can be
  // temporary, please try again") that does not apply.
  if (req.ghes) return { uploaded: false, reason: GHES, files };
  const { DefaultArtifactClient } = await import('@actions/artifact');
  try {
    const res = await new DefaultArtifactClient().uploadArtifact(req.name, files, rootOf(files, req.workspace), {
      ...(req.retentionDays !== undefined ? { retentionDays: req.retentionDays } : {}),
    });
    return { uploaded: true, ...(res.id !== undefined ? { id: res.id } : {}), ...(res.size !== undefined ? { size: res.size } : {}), files };
  } catch (err) {
    if ((err as Error).name === 'GHESNotSupportedError') return { uploaded: false, reason: GHES, files };
    throw new UploadError(`artifact ${req.name} was not uploaded: ${(err as Error).message}`);
  }
}

const GHES =
  'artifacts are not available on GitHub Enterprise Server to @actions/artifact v2 and later; keep the journal and the audit trail with ' +
  'actions/upload-artifact@v3 in a step with `if: always()`, or send the trail to an `http` audit sink';

/** The workspace when every file is inside it, else the deepest folder holding them all. */
function rootOf(files: string[], workspace: string): string {
  const base = resolve(workspace);
  if (files.every((f) => !relative(base, f).startsWith('..'))) return base;
  let root = dirname(files[0] as string);
  while (!files.every((f) => f.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))) root = dirname(root);
  return root;
}
