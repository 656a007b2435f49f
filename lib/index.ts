export { NumaError, type NumaErrorCode } from './errors';
export type { MemoryView } from './checks';
export { bestNode, type BestNodeOptions, nearestMemoryNode } from './best-node';
export { clusterForkOnNode, forkOnNode, type NodePlacementOptions, spawnOnNode } from './children';
export {
  type DeviceKind,
  type MemoryAccess,
  type MemoryTier,
  parseIdList,
  type PciDevice,
  type RankBy,
  topology,
  type NumaNode,
  type Topology,
} from './topology';
export {
  describePage,
  PAGE_HIDDEN,
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
  MigrationAbortedError,
  MigrationFailedError,
  movePages,
  movePagesSync,
  NODE_UNKNOWN,
  NOT_MOVED,
  type MigrateOptions,
  type ParallelMigrateOptions,
  type Progress,
  type MigrationReport,
  type MigrationReportFor,
  type MovePagesOptions,
} from './migrate';
export type { PolicyMode } from './mempolicy';
export {
  bindBuffer,
  bufferPolicy,
  nodeOfAddress,
  setHomeNode,
  setThreadPolicy,
  threadPolicy,
  type BindOptions,
  type BindReport,
  type PageRange,
  type Policy,
  type PolicySpec,
  type ThreadPolicySpec,
  type WeightedLayout,
} from './policy';
export { formatPlacementMap, placementMap, type PlacementMapFormat, type PlacementMapOptions } from './placement-map';
export { capabilities, type Capabilities, type Support } from './capabilities';
export { allocInterleaved, allocLocal, allocOnNode, allocWeightedInterleaved, type AllocOptions, type WeightedAllocation } from './alloc';
export {
  interleaveCheck,
  interleaveWeights,
  setInterleaveWeights,
  weightsFromBandwidth,
  type BandwidthWeights,
  type BandwidthWeightsOptions,
  type InterleaveCheck,
  type InterleaveWeights,
  type NodeWeights,
} from './weights';
export { currentCpu, nodeOfCpu, nodeOfThread, pinThread, placeNear, startWorkerOnNode, threadAffinity } from './affinity';
export {
  migrateProcess,
  migrateProcessSync,
  processPlacement,
  type ProcessMigrateOptions,
  type ProcessMigrationFor,
  type ProcessMigrationReport,
  type ProcessPlacement,
} from './process';
export type { PacedFigures } from './pace';
export { parseNumaMaps, type MappingKind, type MappingPlacement } from './numa-maps';
export {
  numaStat,
  numaStatDelta,
  type NodeCounters,
  type NumaStat,
  type NumaStatDelta,
  type NumaStatOptions,
  type ProcessMemory,
  type ProcessNumaStat,
  type ProcessNumaStatDelta,
  type VmCounters,
} from './numa-stat';
export type { NumaFaults } from './threads';
export type { CgroupNumaStat } from './cgroup';
export {
  placementAdvice,
  type AdviceFinding,
  type AdviceFix,
  type CpusetEvidence,
  type Finding,
  type MemoryAwayEvidence,
  type NumaBalancingEvidence,
  type PlacementAdviceOptions,
  type RemoteAccessEvidence,
  type Severity,
  type SlowMemoryEvidence,
  type ThreadsSpreadEvidence,
} from './advice';
export { keepNear, type Correction, type KeepNear, type KeepNearOptions, type KeepNearStats, type KeepNearTarget } from './keep-near';
