/*
 * Images and versions, as the other container targets read them (the kubernetes target's rules):
 * a version is an image's tag (or digest), and becomes the tag of the container's repository.
 */

/** The version an image runs: its tag (`web:1.4.2` → `1.4.2`), its digest, or `latest` for an untagged one. */
export function versionOfImage(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
}

/** The repository of an image, without tag or digest. */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const bare = at >= 0 ? image.slice(0, at) : image;
  const slash = bare.lastIndexOf('/');
  const colon = bare.lastIndexOf(':');
  return colon > slash ? bare.slice(0, colon) : bare;
}

/** The image a version means: a whole reference as given, else the repository tagged with it (a sha256 digest pinned). */
export function imageFor(version: string, repository: string): string {
  if (version.includes('/') || (version.includes(':') && !version.startsWith('sha256:'))) return version;
  return version.startsWith('sha256:') ? `${repository}@${version}` : `${repository}:${version}`;
}

/** A task definition ARN as people write it: `web:7`. */
export function shortArn(arn: string | undefined): string {
  return (arn ?? '?').replace(/^arn:aws[\w-]*:ecs:[^:]*:\d*:task-definition\//, '');
}
