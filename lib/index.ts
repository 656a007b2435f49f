export { NumaError } from './errors';
export type { MemoryView } from './validate';
export { currentCpu, parseIdList, topology, type NumaNode, type Topology } from './topology';
export {
  describePage,
  PAGE_NOT_PRESENT,
  pageNodes,
  placement,
  type PageNodesOptions,
  type PageState,
  type Placement,
} from './pages';
export {
  migrateBuffer,
  migrateBufferSync,
  movePages,
  movePagesSync,
  NOT_MOVED,
  type MigrateOptions,
  type MigrationReport,
  type MovePagesOptions,
} from './migrate';
