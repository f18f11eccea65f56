/**
 * Annotation key validation (k8s.io/apimachinery/pkg/api/validation ValidateAnnotations →
 * k8s.io/apimachinery/pkg/util/validation IsQualifiedName): an optional DNS-subdomain
 * prefix and "/", then a name part of at most 63 characters. Harvester v1.4.1 keyed its
 * migration annotation "harvesterhci.io/migrating-<vmName>", so a VM name over 53
 * characters made every quota update invalid (harvester/harvester#7464).
 */
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MAX = 63;

export function qualifiedNameError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > QUALIFIED_NAME_MAX) return `name part must be no more than ${QUALIFIED_NAME_MAX} characters`;
  if (!NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** The field error text for the first invalid key, or undefined. */
export function validateAnnotationKeys(annotations: Readonly<Record<string, string>>): string | undefined {
  for (const key in annotations) {
    const err = qualifiedNameError(key);
    if (err) return `metadata.annotations: Invalid value: "${key}": ${err}`;
  }
  return undefined;
}
