/**
 * Pod-like objects for the demo, and the UIDs that key them. Both sides of the
 * demo derive the same UID from a pod's index, so readers need no list.
 */

export interface Pod {
  metadata: {
    uid: string;
    name: string;
    namespace: string;
    resourceVersion: string;
    labels: Record<string, string>;
  };
  spec: { nodeName: string; containers: { name: string; image: string }[] };
  status: { phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed'; podIP: string; restarts: number };
}

/** A stable UUID-shaped UID for pod number `index`. */
export function uidOf(index: number): string {
  let h = (index + 1) * 0x9e3779b1;
  const hex = (): string => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
    return ((h ^ (h >>> 15)) >>> 0).toString(16).padStart(8, '0');
  };
  const a = hex();
  const b = hex();
  const c = hex();
  const d = hex();
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

const PHASES = ['Pending', 'Running', 'Running', 'Running', 'Succeeded', 'Failed'] as const;

/** Version `version` of pod number `index`, as a controller's informer would deliver it. */
export function podOf(index: number, version: number): Pod {
  return {
    metadata: {
      uid: uidOf(index),
      name: `web-${index.toString(36)}`,
      namespace: `team-${index % 17}`,
      resourceVersion: String(version),
      labels: { app: 'web', tier: index % 3 ? 'frontend' : 'backend', shard: String(index % 8) },
    },
    spec: {
      nodeName: `node-${index % 50}`,
      containers: [{ name: 'app', image: `registry.example/web:${1 + (version % 5)}` }],
    },
    status: {
      phase: PHASES[version % PHASES.length]!,
      podIP: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      restarts: version % 4,
    },
  };
}
