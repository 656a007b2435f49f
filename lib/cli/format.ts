// Text helpers shared by the CLI commands: sizes, id lists, bars, colour.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** [0,1,2,5,7,8] → "0-2,5,7-8", the kernel's list format; "-" for none. */
export function formatIdList(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let last = i;
    while (last + 1 < ids.length && ids[last + 1] === ids[last] + 1) last++;
    parts.push(last === i ? `${ids[i]}` : `${ids[i]}-${ids[last]}`);
    i = last;
  }
  return parts.join(',') || '-';
}

/** Pads every column of a table to its widest cell. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

export interface Segment {
  value: number;
  /** Drawn with this character when plain, with a coloured block otherwise. */
  letter: string;
  /** ANSI SGR colour number. */
  colour: number;
}

/**
 * A bar of `width` cells for values scaled to `scale`; segment boundaries are
 * rounded on the running total so small segments do not vanish unevenly.
 */
export function formatBar(segments: Segment[], scale: number, width: number, colour: boolean): string {
  let bar = '';
  let total = 0;
  let drawn = 0;
  for (const segment of segments) {
    total += segment.value;
    const end = scale > 0 ? Math.round((total / scale) * width) : 0;
    const cells = end - drawn;
    if (cells <= 0) continue;
    bar += colour ? `\x1b[${segment.colour}m${'█'.repeat(cells)}\x1b[0m` : segment.letter.repeat(cells);
    drawn = end;
  }
  return bar + ' '.repeat(width - drawn);
}

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
export function useColour(stream: NodeJS.WriteStream, disabled: boolean): boolean {
  return !disabled && stream.isTTY === true && !process.env.NO_COLOR;
}

/** Maps (which JSON.stringify drops) as plain objects; bigints as strings; `indent` 0 for one line. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => {
      if (item instanceof Map) return Object.fromEntries(item);
      if (typeof item === 'bigint') return `0x${item.toString(16)}`;
      return item;
    },
    indent,
  );
}
