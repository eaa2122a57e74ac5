/*
 * The names of the images portlab builds (the probe, Debian's software for the shipped scenarios). Each carries a
 * registry part in RFC 2606's .invalid, which no resolver answers: no one can publish an image under it, so a name
 * portlab made up can never fetch someone else's image. (A short name would be Docker Hub's, where anyone may publish
 * one; `localhost/` is a registry on this host that Docker would ask.)
 */

/** The registry part of every image portlab builds. */
export const OWN_REGISTRY = 'portlab.invalid';

/** The registry part of a reference, as Docker reads it: the first component when it has a dot or a port, or is localhost. */
function registryOf(reference: string): string | undefined {
  const [first, ...rest] = reference.split('/');
  if (rest.length === 0 || first === undefined) return undefined;
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** A reference no registry can serve (its registry is in .invalid): never pulled, only built or loaded. */
export const neverPulled = (reference: string) => /\.invalid(:\d+)?$/.test(registryOf(reference) ?? '');

/**
 * Which of portlab's own application builds a reference names (`portlab.invalid/nginx:1.22` -> nginx), the argument
 * `portlab images build` takes for it; undefined for anything else.
 */
export function ownApplication(reference: string): string | undefined {
  const match = new RegExp(`^${OWN_REGISTRY.replaceAll('.', '\\.')}/([a-z0-9-]+)(:[\\w.-]+)?$`).exec(reference);
  return match?.[1];
}
