/*
 * Images and versions, as the other container targets read them (the kubernetes target's rules):
 * a version is an image's tag (or digest), and becomes the tag of the container's repository.
 */

export { imageFor, repositoryOf, versionOfImage } from '../../util/image-ref.js';

/** A task definition ARN as people write it: `web:7`. */
export function shortArn(arn: string | undefined): string {
  return (arn ?? '?').replace(/^arn:aws[\w-]*:ecs:[^:]*:\d*:task-definition\//, '');
}
