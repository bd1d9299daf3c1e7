/** Hive partition names of the store's partitioned tables (no Parquet library: readers import it). */

/**
 * A hive partition directory name, `key=value`, with the value percent-encoded where a path or
 * hive reader would misread it (product names are plain, but nothing else guarantees it).
 */
export function partitionKey(key: string, value: string): string {
  return `${key}=${value.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)}`;
}
