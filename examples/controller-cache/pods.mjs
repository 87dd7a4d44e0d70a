// Pods as an informer caches them, keyed by UID. Both the informer and the
// readers derive a pod's UID from its index, so readers need no list of UIDs.

/** A stable UUID-shaped UID for pod number `index`. */
export function uidOf(index) {
  let h = (index + 1) * 0x9e3779b1;
  const hex = () => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
    return ((h ^ (h >>> 15)) >>> 0).toString(16).padStart(8, '0');
  };
  const [a, b, c, d] = [hex(), hex(), hex(), hex()];
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-8${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'];

/** Pod number `index` at resourceVersion `rv`, in `phase`. */
export function podOf(index, rv, phase) {
  return {
    uid: uidOf(index),
    name: `web-${index}`,
    namespace: index % 3 === 0 ? 'payments' : 'default',
    resourceVersion: String(rv),
    nodeName: `node-${index % 8}`,
    phase,
  };
}
