#include "migrate.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <new>
#include <unistd.h>

#include "kernel.h"
#include "pagemap.h"

namespace numa {
namespace {

// The kernel moves pages in batches (runs of pages queued for one node, ended
// by a page it answers at once, a page for another node, or the end); when
// pages of a batch fail to migrate it returns their count without storing
// the batch's statuses (kUnset: tried), and stops there, before the pages
// after the batch (kUntried: never tried).
constexpr int32_t kUntried = INT32_MIN + 1;

// After a call that left pages unmigrated: the pages after the batch that
// failed, which the kernel never tried, are marked kUntried. The batch starts
// at the first status not stored and ends at the first stored one or at a
// page for another node.
void mark_untried(size_t count, const int32_t* nodes, int32_t* status) {
  size_t first = std::find(status, status + count, kUnset) - status;
  size_t end = first + 1;
  while (end < count && status[end] == kUnset && nodes[end] == nodes[first]) end++;
  for (size_t i = end; i < count; i++)
    if (status[i] == kUnset) status[i] = kUntried;
}

// One chunk's move, from one attempt to the next: what it was asked, what the
// kernel said of each page (`status`, then where each page is), and the
// arrays a thread keeps from chunk to chunk (see kept_array).
struct ChunkMove {
  PageSpan chunk{};
  int flags = 0;                     // MPOL_MF_*
  bool one_target = false;           // every page's target is nodes[0]
  const int32_t* before = nullptr;   // each page's status from a query just before, or null
  int32_t* status = nullptr;         // chunk.count entries
  MoveStats* stats = nullptr;
  unsigned retries = 0;              // the caller's retries left for pages the kernel could not move
  unsigned retry_delay_ms = 0;       // the caller's pause before each
  unsigned looks = 0;                // attempts left for pages the kernel could not see
  unsigned waits = 0;                // attempts left for pages someone else had
  std::vector<void*> addresses;      // of every page
  std::vector<int32_t> nodes;        // every page's target
  std::vector<int32_t> where;        // read back after an attempt
  PageRuns huge_runs;                // mapped by huge pages when the first attempt began
  std::vector<uint32_t> groups;      // see group_pages
  std::vector<uint32_t> whole_huge_pages;  // first pages of the groups still whole after it
  std::vector<uint64_t>* call_ns = nullptr;  // every call's time, when paced
  std::vector<uint8_t> held;         // pages the kernel tried and could not move (see classify)
  bool offer_held = true;            // whether the next attempt offers the held pages too
  unsigned untried_turns = 0;        // attempts left for pages the kernel never tried
};

// move_pages: the kernel's statuses for the pages offered, kUnset where it
// stored none. The number of pages not moved, or a negative errno.
long kernel_move(size_t count, void** addresses, const int32_t* nodes, int flags, int32_t* status) {
  std::fill(status, status + count, kUnset);
  long rc = syscall(SYS_move_pages, 0, count, addresses, nodes, status, flags);
  if (rc < 0) return -errno;
  if (rc > 0) mark_untried(count, nodes, status);
  return rc;
}

// The groups of a chunk's pages that one address each moves: each huge page
// in `runs` (move_pages moves its whole folio for any one of its addresses,
// and that address's status tells where the folio went), every other page
// alone. firsts[g] is group g's first page; firsts.back() is chunk.count.
void group_pages(PageSpan chunk, const PageRuns& runs, std::vector<uint32_t>& firsts) {
  firsts.clear();
  const size_t per_huge_page = huge_page_size() / page_size();
  // Huge pages begin on multiples of their size: where in its huge page the chunk's first page lies.
  const size_t offset = chunk.start / page_size() % per_huge_page;
  size_t page = 0;
  for (auto [first, end] : runs) {
    for (; page < first; page++) firsts.push_back(uint32_t(page));
    for (; page < end; page = std::min(end, (page + offset) / per_huge_page * per_huge_page + per_huge_page - offset))
      firsts.push_back(uint32_t(page));
  }
  for (; page < chunk.count; page++) firsts.push_back(uint32_t(page));
  firsts.push_back(uint32_t(chunk.count));
}

// move_pages with one address per group (see group_pages): each group's
// pages get its address's status.
long move_groups(ChunkMove& move) {
  thread_local std::vector<void*> group_addresses;
  thread_local std::vector<int32_t> group_statuses;
  const std::vector<uint32_t>& firsts = move.groups;
  size_t groups = firsts.size() - 1;
  void** heads = kept_array(group_addresses, groups);
  int32_t* head_status = kept_array(group_statuses, groups);
  for (size_t g = 0; g < groups; g++) heads[g] = move.addresses[firsts[g]];
  long rc = kernel_move(groups, heads, move.nodes.data(), move.flags, head_status);
  if (rc < 0) return rc;
  for (size_t g = 0; g < groups; g++) std::fill(move.status + firsts[g], move.status + firsts[g + 1], head_status[g]);
  return rc;
}

// Another attempt at a chunk offers the kernel only the pages the last one
// left off their targets (status[i] != nodes[i]): the others would cost it a
// walk for nothing (under NUMA balancing, every page of a chunk but the
// hidden ones). Held pages only when the caller's retries pay for them.
long move_left_behind(ChunkMove& move) {
  thread_local std::vector<uint32_t> pages;
  thread_local std::vector<void*> page_addresses;
  thread_local std::vector<int32_t> page_nodes;
  thread_local std::vector<int32_t> page_statuses;
  pages.clear();
  for (size_t i = 0; i < move.chunk.count; i++)
    if (move.status[i] != move.nodes[i] && (move.offer_held || !move.held[i])) pages.push_back(uint32_t(i));
  size_t n = pages.size();
  void** to_move = kept_array(page_addresses, n);
  int32_t* targets = kept_array(page_nodes, n);
  int32_t* moved = kept_array(page_statuses, n);
  for (size_t k = 0; k < n; k++) {
    to_move[k] = move.addresses[pages[k]];
    targets[k] = move.nodes[pages[k]];
  }
  long rc = kernel_move(n, to_move, targets, move.flags, moved);
  if (rc < 0) return rc;
  for (size_t k = 0; k < n; k++) move.status[pages[k]] = moved[k];
  return rc;
}

// After a move by groups: a group whose pages one huge page still maps has
// them all where its status says; of any other group (its huge page split
// since the scan) only the first page's status is known, the rest kUnset to
// be read back.
void settle_groups(ChunkMove& move) {
  thread_local PageRuns huge_after;
  find_huge_runs(move.chunk, huge_after);
  move.whole_huge_pages.clear();
  auto run = huge_after.begin();
  for (size_t g = 0; g + 1 < move.groups.size(); g++) {
    size_t first = move.groups[g], end = move.groups[g + 1];
    if (end - first == 1) continue;
    while (run != huge_after.end() && run->second <= first) ++run;
    if (run != huge_after.end() && run->first <= first && end <= run->second)
      move.whole_huge_pages.push_back(uint32_t(first));
    else
      std::fill(move.status + first + 1, move.status + end, kUnset);
  }
}

// One move_pages call over the chunk: the first offers every page (a huge
// page by one address, where one target lets it: the kernel's per-address
// walk of its other pages would only find each already moved with the
// first); a later one only the pages left behind. Leaves the kernel's
// statuses in move.status. 0 or a negative errno.
int attempt(ChunkMove& move, bool first) {
  move.huge_runs.clear();
  if (first) move.whole_huge_pages.clear();
  // A huge page is given by one address only where it holds two pages of the
  // chunk or more: for a 1-page chunk the scan could only cost a system call.
  if (first && move.one_target && move.chunk.count > 1) find_huge_runs(move.chunk, move.huge_runs);
  uint64_t began = move.call_ns ? monotonic_ns() : 0;
  long rc;
  if (!first) {
    rc = move_left_behind(move);
  } else if (move.huge_runs.empty()) {
    rc = kernel_move(move.chunk.count, move.addresses.data(), move.nodes.data(), move.flags, move.status);
  } else {
    group_pages(move.chunk, move.huge_runs, move.groups);
    rc = move_groups(move);
  }
  if (move.stats) move.stats->calls++;
  if (move.call_ns) move.call_ns->push_back(monotonic_ns() - began);
  if (rc < 0) {
    // The target node ran out of memory: the kernel stops the batch without
    // statuses. Pages found elsewhere afterwards are reported as ENOMEM.
    if (rc != -ENOMEM) return int(rc);
    std::fill(move.status, move.status + move.chunk.count, -ENOMEM);
  }
  if (!move.huge_runs.empty()) settle_groups(move);
  // A zero page is nobody's page to move, whatever node the kernel names for it.
  return kernel_reports_zero_page_node() ? mark_zero_pages(move.chunk, move.status) : 0;
}

// With one target for all pages, a status equal to it is the kernel's own
// report that the page is there (no huge page can be torn between targets):
// when every page has it, a read-back would only repeat it.
bool all_on_target(const ChunkMove& move) {
  return move.one_target && size_t(std::count(move.status, move.status + move.chunk.count, move.nodes[0])) == move.chunk.count;
}

// Where each page is after an attempt, into move.where, without touching it:
// a fault on a page already on its target could make NUMA balancing move it
// away again. With one target, when the only pages off it are ones the kernel
// could not find (never written, the zero page, or hidden by NUMA balancing),
// pagemap tells which without a second walk of the chunk; any other answer is
// read back in full.
int read_back(ChunkMove& move) {
  const size_t count = move.chunk.count;
  bool only_absent_left = move.one_target;
  for (size_t i = 0; i < count && only_absent_left; i++)
    only_absent_left = move.status[i] == move.nodes[i] || kernel_says_absent(move.status[i]);
  if (!only_absent_left) return query_nodes(move.chunk, move.where.data(), move.stats);
  std::copy(move.status, move.status + count, move.where.data());
  return resolve_absent(move.chunk, move.where.data(), move.stats, HiddenPages::kLookUp);
}

// What an attempt left of one page, from the kernel's status and the read-back.
struct PageOutcome {
  // The kernel could not see it: hidden from the move by NUMA balancing, or
  // present before or during the move and absent now (being migrated or
  // collapsed by someone else). Faulted back in, it is worth moving again.
  bool unseen;
  // EBUSY: another migration (or compaction, or reclaim) had it for a moment,
  // and the kernel did not try to move it.
  bool busy;
  // The kernel tried to move it, retried inside its call and gave up (pinned,
  // held by a pipe or I/O); it is elsewhere. Its own code for a page it
  // refused (EACCES: shared, without moveAll; ENOMEM: the target is full) is final.
  bool held;
  // The kernel stopped at a failed batch before it: never tried.
  bool untried;
  int32_t status;  // what to report of it
};

PageOutcome outcome_of(const ChunkMove& move, size_t i) {
  const int32_t kernel = move.status[i], where = move.where[i];
  bool stored = kernel != kUnset && kernel != kUntried;
  bool unknown = where == kHiddenNodeUnknown;
  bool elsewhere = where >= 0 && where != move.nodes[i];
  bool kernel_failed = kernel < 0;  // an errno, kUnset or kUntried
  bool left_behind = (elsewhere || unknown) && kernel_failed;
  // The kernel answered EFAULT or ENOENT for a page that is there: NUMA balancing hid it.
  bool hidden = left_behind && (unknown || kernel_says_absent(kernel));
  // Present as far as anyone saw: the kernel stored a status for it other than
  // "absent" (the ENOMEM a failed call leaves on every page says nothing of it), or the query before.
  bool kernel_saw = stored && !kernel_says_absent(kernel) && kernel != -ENOMEM;
  bool was_present = kernel_saw || (move.before && move.before[i] != kNotPresent);
  bool in_flux = where == kNotPresent && was_present;
  bool untried = left_behind && kernel == kUntried;
  // A page left elsewhere keeps the kernel's error code; hidden since the
  // move with its node unreadable, the kernel's own status is the best answer.
  bool kernel_stands = stored && ((elsewhere && kernel_failed) || unknown);
  return {hidden || in_flux, left_behind && kernel == -EBUSY, left_behind && !hidden && kernel == kUnset, untried,
          kernel_stands ? kernel : where};
}

// What an attempt left of the chunk as a whole.
struct Verdict {
  bool unseen = false;
  bool busy = false;
  bool held = false;
  bool untried = false;
};

// Sets each page's status from the read-back (a page left on another node
// keeps the kernel's error code, or reports the node it is on when the kernel
// gave none) and faults unseen pages back in, a run at a time: a fault on a
// page NUMA balancing hid makes it visible, one on a page being migrated
// waits until the migration is done.
Verdict classify(ChunkMove& move) {
  Verdict verdict;
  size_t unseen_run = 0;  // unseen pages just before page i
  auto reveal_run_before = [&](size_t i) {
    if (unseen_run > 0) reveal_pages({move.chunk.start + (i - unseen_run) * page_size(), unseen_run});
    unseen_run = 0;
  };
  for (size_t i = 0; i < move.chunk.count; i++) {
    PageOutcome page = outcome_of(move, i);
    if (page.unseen)
      unseen_run++;
    else
      reveal_run_before(i);
    verdict.unseen |= page.unseen;
    verdict.busy |= page.busy;
    verdict.held |= page.held;
    verdict.untried |= page.untried;
    move.held[i] = page.held;
    move.status[i] = page.status;
  }
  reveal_run_before(move.chunk.count);
  return verdict;
}

// Pages of a chunk left behind are offered again, only they. Pages the kernel
// tried and gave up on (pinned, held by a pipe or I/O) have been retried
// inside its own call already: as often as the caller asks, with the caller's
// pause before each time. At no cost to the caller's retries: pages the
// kernel never tried (it stopped at a failed batch before them) at once,
// without the held pages, up to kUntriedTurns times; pages it did
// not see (faulted back in) or that read as absent with a swap-type entry
// (being migrated, or swapped out) at once, up to kLooks times; pages another
// migration had isolated (EBUSY), which the kernel did not try, once that
// migration has had time to end: after a pause doubling from 1 ms, up to
// kWaits times. Never: a target out of memory, and a page the kernel reported
// moved that is elsewhere (a huge page whose subpages target different
// nodes), which would not settle.
constexpr unsigned kLooks = 4;
constexpr unsigned kWaits = 10;
constexpr unsigned kUntriedTurns = 16;

void pause_ms(unsigned ms) {
  timespec pause = {time_t(ms / 1000), long(ms % 1000) * 1000000L};
  while (ms > 0 && nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
}

// Whether the chunk gets another attempt, after its pause.
bool another_attempt(ChunkMove& move, Verdict verdict) {
  move.offer_held = true;
  if (verdict.held && move.retries > 0) {
    move.retries--;
    pause_ms(move.retry_delay_ms);
    return true;
  }
  if (verdict.untried && move.untried_turns > 0) {
    move.untried_turns--;
    move.offer_held = false;
    return true;
  }
  if (verdict.busy && move.waits > 0) {
    pause_ms(1u << (kWaits - move.waits));
    move.waits--;
    return true;
  }
  if (!verdict.unseen || move.looks == 0) return false;
  move.looks--;
  return true;
}

void count_whole_huge_pages(const ChunkMove& move) {
  if (!move.stats) return;
  for (uint32_t first : move.whole_huge_pages) move.stats->huge_pages += move.status[first] == move.nodes[0];
}

// The node of each page left off its target, as the last read-back found it
// (a page's status keeps the kernel's error code where it gave one).
void count_elsewhere(const ChunkMove& move) {
  if (!move.stats) return;
  for (size_t i = 0; i < move.chunk.count; i++)
    if (move.status[i] != move.nodes[i] && move.where[i] >= 0) move.stats->elsewhere[move.where[i]]++;
}

// Moves one chunk; its statuses tell where each page is afterwards, read back
// from the kernel: the kernel's own statuses can be incomplete (see kUnset)
// or stale (a huge page moves as a whole; NUMA balancing moves pages too).
int move_chunk(ChunkMove& move) {
  for (bool first = true;; first = false) {
    if (int err = attempt(move, first)) return err;
    if (all_on_target(move)) break;
    if (int err = read_back(move)) return err;
    Verdict verdict = classify(move);
    // A page another thread is migrating reads as absent for a moment.
    if (!verdict.unseen && !verdict.busy && !verdict.held && !verdict.untried && move.looks > 0) {
      int in_flux = pages_in_flux(move.chunk, move.where.data());
      if (in_flux < 0) return in_flux;
      verdict.unseen = in_flux > 0;
    }
    if (!another_attempt(move, verdict)) break;
  }
  count_whole_huge_pages(move);
  if (!all_on_target(move)) count_elsewhere(move);
  return 0;
}

// Moves page i to targets[i] (or every page to `node` when targets is null),
// a chunk at a time. before[i], or null: its status from query_nodes just
// before (a page present then and absent after the move is in flux, and
// looked at again).
int move_to_nodes(PageSpan span, const int32_t* targets, int node, const MoveOptions& options, const int32_t* before,
                  int32_t* status, MigrationOutcome& outcome) try {
  thread_local ChunkMove move;
  move.flags = options.move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
  move.retry_delay_ms = options.retry_delay_ms;
  move.stats = &outcome.stats;
  move.call_ns = options.max_moves ? &outcome.call_ns : nullptr;
  for (size_t first = 0; first < span.count; first += kChunkPages) {
    move.chunk = chunk_of(span, first);
    const size_t count = move.chunk.count;
    fill_addresses(move.chunk, kept_array(move.addresses, count));
    int32_t* nodes = kept_array(move.nodes, count);
    if (targets)
      std::copy(targets + first, targets + first + count, nodes);
    else
      std::fill(nodes, nodes + count, node);
    move.one_target = !targets || std::all_of(nodes, nodes + count, [&](int32_t to) { return to == nodes[0]; });
    move.before = before ? before + first : nullptr;
    move.status = status + first;
    move.retries = options.retries;
    move.looks = kLooks;
    move.waits = kWaits;
    move.untried_turns = kUntriedTurns;
    move.offer_held = true;
    kept_array(move.where, count);
    uint8_t* held = kept_array(move.held, count);
    std::fill(held, held + count, 0);
    if (int err = move_chunk(move)) return err;
  }
  return 0;
} catch (const std::bad_alloc&) {
  return -ENOMEM;
}

// The pages of a paced migration's span to move now: from its first page up
// to the one that would be the (max_moves + 1)th to leave another node. A cut
// past the first huge-page boundary falls back to the last boundary before it,
// so that no huge page is split between two calls (see moved_along for one
// before it).
size_t paced_prefix(PageSpan span, const int32_t* before, const int32_t* targets, int node, size_t max_moves) {
  size_t moves = 0, end = span.count;
  for (size_t i = 0; i < span.count && end == span.count; i++) {
    bool placed = before[i] == kNotPresent || before[i] == (targets ? targets[i] : node);
    if (!placed && ++moves > max_moves) end = i;
  }
  const uintptr_t huge = huge_page_size();
  if (end == span.count || huge == 0) return end;
  const uintptr_t boundary = (span.start + end * page_size()) / huge * huge;
  return boundary > span.start ? (boundary - span.start) / page_size() : end;
}

// A cut inside a huge page: the kernel moves the huge page whole for any of
// its addresses, so pages past the cut moved too. The cut goes on over the
// pages on their target now, up to the next huge-page boundary (the window's
// end at most), so that they count here (as moved, if they were elsewhere
// before), not as already there in the next call. Where they are is read
// back into after[]; `window` is the span the cut was made in.
size_t moved_along(PageSpan window, size_t cut, const int32_t* targets, int node, int32_t* after, MoveStats* stats) {
  const uintptr_t huge = huge_page_size(), at = window.start + cut * page_size();
  if (huge == 0 || cut == window.count || at % huge == 0) return cut;
  const size_t end = std::min(window.count, cut + (huge - at % huge) / page_size());
  if (query_nodes({at, end - cut}, after + cut, stats) != 0) return cut;
  while (cut < end && after[cut] == (targets ? targets[cut] : node)) cut++;
  return cut;
}

MigrationCounts count(const Migration& request, size_t pages, const int32_t* before, const int32_t* after) {
  MigrationCounts counts;
  const int32_t* targets = request.targets.empty() ? nullptr : request.targets.data();
  auto target = [&](size_t i) { return targets ? targets[i] : request.node; };
  // The common outcome, every page on one node and none to compare with before, in one pass the compiler vectorises.
  if (!targets && !before && size_t(std::count(after, after + pages, request.node)) == pages) {
    counts.on_node = pages;
    return counts;
  }
  for (size_t i = 0; i < pages; i++) {
    if (after[i] == target(i)) {
      counts.on_node++;
      counts.moved += before && before[i] != after[i];
    } else if (after[i] == kNotPresent) {
      counts.not_present++;
    } else {
      counts.failed[after[i]].push_back(uint32_t(i));
    }
  }
  return counts;
}

}  // namespace

MigrationOutcome migrate(const Migration& request, int32_t* after) try {
  MigrationOutcome outcome;
  uint64_t started = monotonic_ns();
  auto fail = [&](int error, const char* syscall) {
    outcome.error = error;
    outcome.syscall = syscall;
    outcome.elapsed_ns = monotonic_ns() - started;
    return outcome;
  };
  const MoveOptions& options = request.options;
  if (options.prefault) {
    if (int err = prefault_write(request.span)) return fail(err, "madvise");
  }
  std::vector<int32_t> before;
  const int32_t* targets = request.targets.empty() ? nullptr : request.targets.data();
  PageSpan span = request.span;
  if (options.count_moved || options.max_moves) {
    // Pages hidden by NUMA balancing are faulted back in so that the move sees them.
    before.resize(span.count);
    if (int err = query_nodes(span, before.data(), &outcome.stats, HiddenPages::kReveal)) return fail(err, "move_pages");
    if (options.max_moves) span.count = paced_prefix(span, before.data(), targets, request.node, options.max_moves);
  }
  const int32_t* was = before.empty() ? nullptr : before.data();
  if (int err = move_to_nodes(span, targets, request.node, options, was, after, outcome)) return fail(err, "move_pages");
  if (options.max_moves) span.count = moved_along(request.span, span.count, targets, request.node, after, &outcome.stats);
  outcome.pages = span.count;
  outcome.counts = count(request, span.count, was, after);
  outcome.elapsed_ns = monotonic_ns() - started;
  return outcome;
} catch (const std::bad_alloc&) {
  MigrationOutcome outcome;
  outcome.error = -ENOMEM;
  outcome.syscall = "move_pages";
  return outcome;
}

}  // namespace numa
