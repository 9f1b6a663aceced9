/**
 * DBSCAN giving scikit-learn's exact labels (`sklearn.cluster.DBSCAN(eps, min_samples)`),
 * written as an order-independent rule rather than scikit-learn's stack-based expansion, so a
 * GPU can follow the same rule (cfcam.md, step 4):
 *
 * - neighbours of i: every j with d(i,j) <= eps, i itself included;
 * - i is a core point when it has >= minSamples neighbours;
 * - clusters are the connected components of core points joined by core-core neighbour edges;
 * - a non-core point with a core neighbour (a border point) joins the cluster whose smallest
 *   core index is smallest among its core neighbours' clusters: scikit-learn starts clusters
 *   from increasing point indices and a border point keeps the first label it receives, so the
 *   earliest-started cluster that touches it wins;
 * - cluster ids are 0,1,2,... in increasing order of each cluster's smallest core index
 *   (scikit-learn numbers clusters in the order it starts them); everything else is -1.
 */

/** Union-find whose root is always the smallest index of its set. */
class MinRootUnionFind {
  private readonly parent: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root];
    // Path compression: point every visited node straight at the root.
    while (this.parent[i] !== root) {
      const next = this.parent[i];
      this.parent[i] = root;
      i = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }
}

/** Result of {@link dbscan}: labels per point, the number of clusters, and which points are core. */
export interface DbscanResult {
  /** Cluster id per point, -1 for noise. */
  labels: Int32Array;
  clusters: number;
  core: Uint8Array;
}

/**
 * DBSCAN over m points given their row-major m x m distance matrix. Neighbourhood is
 * `dist[i*m+j] <= eps` (closed ball, as scikit-learn's radius_neighbors); the diagonal is not
 * read, every point counts as its own neighbour.
 */
export function dbscan(dist: ArrayLike<number>, m: number, eps: number, minSamples: number): DbscanResult {
  const isNeighbour = (i: number, j: number): boolean => i === j || dist[i * m + j] <= eps;

  // Core points: neighbour count (self included) reaches minSamples.
  const core = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    let count = 0;
    for (let j = 0; j < m; j++) if (isNeighbour(i, j)) count++;
    core[i] = count >= minSamples ? 1 : 0;
  }

  // Connected components of core points; each root is the component's smallest core index.
  const sets = new MinRootUnionFind(m);
  for (let i = 0; i < m; i++) {
    if (!core[i]) continue;
    for (let j = i + 1; j < m; j++) if (core[j] && isNeighbour(i, j)) sets.union(i, j);
  }

  // Number clusters by increasing root index: scanning i upward meets each root first at i = root.
  const clusterOfRoot = new Int32Array(m).fill(-1);
  let clusters = 0;
  for (let i = 0; i < m; i++) {
    if (core[i] && sets.find(i) === i) clusterOfRoot[i] = clusters++;
  }

  const labels = new Int32Array(m).fill(-1);
  for (let i = 0; i < m; i++) {
    if (core[i]) {
      labels[i] = clusterOfRoot[sets.find(i)];
      continue;
    }
    // Border point: the core neighbour whose cluster root is smallest decides.
    let bestRoot = m;
    for (let j = 0; j < m; j++) {
      if (core[j] && isNeighbour(i, j)) bestRoot = Math.min(bestRoot, sets.find(j));
    }
    if (bestRoot < m) labels[i] = clusterOfRoot[bestRoot];
  }
  return { labels, clusters, core };
}
