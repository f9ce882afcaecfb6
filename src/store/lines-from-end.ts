// Reads a JSON Lines file from its end backwards, in chunks of a fixed size, so that "the last N
// entries of X" costs what those entries take, not what the file has grown to. Reading the whole
// file into one string did not scale: the integrations' audit trail (never folded) at 50 MB took
// 0.3–0.5 s and a 50 MB string per call (16 at once: 1.9 GB RSS, /healthz stalled ~3 s), and past
// V8's largest string (~512 MB) every call failed with "RangeError: Invalid string length".
//
// Memory is one chunk, the line being assembled across chunks, and what the visitor keeps. Lines are
// cut at the newline byte (0x0A, which is never part of a longer UTF-8 sequence) and only whole
// lines are decoded; a character split by a chunk boundary is joined by a streaming decode. Each
// chunk is one read on the thread pool, so the event loop serves others between chunks.
import { type FileHandle, open } from "node:fs/promises";

export const CHUNK_BYTES = 64 * 1024;
/**
 * A line longer than this is passed over (not visited): no entry we write comes near it, and keeping
 * it would make the memory depend on the file again (a file damaged into one endless line).
 */
export const MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

export interface LinesFromEndOptions {
  chunkBytes?: number;
  maxLineBytes?: number;
}

/**
 * Calls `visit` with each line of `path`, the last first (the text after the final newline counts
 * as a line, as split("\n") has it: "" when the file ends with one), until `visit` answers true.
 * Gives the lines split("\n") of the whole file would, in reverse, but for lines over maxLineBytes.
 * Answers the bytes read. Throws the file system's error (ENOENT when there is no file).
 */
export async function scanLinesFromEnd(path: string, visit: (line: string) => boolean | void, options: LinesFromEndOptions = {}): Promise<{ bytesRead: number }> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be a positive integer (got ${chunkBytes})`);
  const handle = await open(path, "r");
  try {
    let position = (await handle.stat()).size;
    let bytesRead = 0;
    const buffer = new Uint8Array(Math.min(chunkBytes, Math.max(position, 1))); // one buffer, reused for every chunk
    // ignoreBOM: a U+FEFF at the start stays in the line, as readFile(…, "utf8") left it.
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    let carry = new Uint8Array(0); // the start of the line that the bytes after `position` end
    let passingOver = false; // the line at the front is longer than maxLineBytes: its start is not kept

    /** Visits the lines of `text` (whole lines, newest last), newest first; true once the visitor has enough. */
    const visitAll = (text: string): boolean => {
      const lines = text.split("\n");
      for (let i = lines.length - 1; i >= 0; i--) if (visit(lines[i]!)) return true;
      return false;
    };

    while (position > 0) {
      const length = Math.min(buffer.length, position);
      position -= length;
      const chunk = buffer.subarray(0, length);
      await readFully(handle, chunk, position);
      bytesRead += length;
      const first = chunk.indexOf(NEWLINE);
      if (first < 0) {
        // Still inside one line: keep its bytes (unless it is one too long to keep).
        if (passingOver) continue;
        if (carry.length + length > maxLineBytes) {
          carry = new Uint8Array(0);
          passingOver = true;
          continue;
        }
        const joined = new Uint8Array(length + carry.length);
        joined.set(chunk);
        joined.set(carry, length);
        carry = joined;
        continue;
      }
      // Whole lines: from the byte after the chunk's first newline to the end of the carried line.
      if (!passingOver) {
        if (visitAll(decoder.decode(chunk.subarray(first + 1), { stream: true }) + decoder.decode(carry))) return { bytesRead };
      } else {
        // The bytes after the chunk's last newline begin the overlong line, which is passed over.
        const last = chunk.lastIndexOf(NEWLINE);
        if (last > first && visitAll(decoder.decode(chunk.subarray(first + 1, last)))) return { bytesRead };
        passingOver = false;
      }
      carry = chunk.slice(0, first); // a copy: the buffer is read into again
    }
    if (!passingOver) visitAll(decoder.decode(carry)); // the file's first line
    return { bytesRead };
  } finally {
    await handle.close();
  }
}

/** A read may answer fewer bytes than asked (it does not at a regular file's known size, but may elsewhere). */
async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < into.length; ) {
    const { bytesRead } = await handle.read(into, at, into.length - at, position + at);
    if (bytesRead === 0) throw new Error(`the file ended ${into.length - at} bytes early (truncated while being read?)`);
    at += bytesRead;
  }
}
