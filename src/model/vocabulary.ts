/**
 * The closed vocabularies of the Parallax data model. Entity types are an open
 * set; classes and verbs are closed so that queries across connectors can rely
 * on them.
 */

/** The 41 entity classes Parallax knows. */
export const KNOWN_CLASSES = [
  'Host', 'User', 'DataStore', 'CodeRepo', 'Firewall', 'AccessPolicy', 'NetworkSegment',
  'Service', 'Certificate', 'Secret', 'Credential', 'Key', 'Container', 'Pod', 'Cluster',
  'Namespace', 'Function', 'Queue', 'Topic', 'Database', 'Application', 'Package',
  'Vulnerability', 'Identity', 'Process', 'File', 'Registry', 'Policy', 'Account',
  'Organization', 'Team', 'Role', 'Group', 'Device', 'Endpoint', 'Scanner', 'Agent',
  'Sensor', 'Ticket', 'Event', 'Generic',
] as const;

/** The 15 relationship verbs Parallax knows. */
export const KNOWN_VERBS = [
  'HAS', 'IS', 'ASSIGNED', 'ALLOWS', 'USES', 'CONTAINS', 'MANAGES', 'CONNECTS', 'PROTECTS',
  'EXPLOITS', 'TRUSTS', 'SCANS', 'RUNS', 'READS', 'WRITES',
] as const;

export type KnownClass = (typeof KNOWN_CLASSES)[number];
export type KnownVerb = (typeof KNOWN_VERBS)[number];

const classSet: ReadonlySet<string> = new Set(KNOWN_CLASSES);
const verbSet: ReadonlySet<string> = new Set(KNOWN_VERBS);

export function isKnownClass(value: string): value is KnownClass {
  return classSet.has(value);
}

export function isKnownVerb(value: string): value is KnownVerb {
  return verbSet.has(value);
}
