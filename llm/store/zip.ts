// Minimal zip reader: stream one member out of an archive (wheels are zips). Supports stored and
// deflated members; no zip64 (wheels of our models are far below 4 GiB).
import { createReadStream, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import type { Writable } from 'node:stream';

interface Entry {
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

function findEntry(fd: number, member: string): Entry {
  const size = fstatSync(fd).size;
  const tailLen = Math.min(size, 65_557);
  const tail = Buffer.alloc(tailLen);
  readSync(fd, tail, 0, tailLen, size - tailLen);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip file (no end-of-central-directory record)');
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
  const cd = Buffer.alloc(cdSize);
  readSync(fd, cd, 0, cdSize, cdOffset);
  for (let p = 0; p + 46 <= cd.length; ) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    if (name === member) {
      return { method: cd.readUInt16LE(p + 10), compressedSize: cd.readUInt32LE(p + 20), localHeaderOffset: cd.readUInt32LE(p + 42) };
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`member ${member} not found in the archive`);
}

export async function extractZipMember(zipPath: string, member: string, out: Writable): Promise<void> {
  const fd = openSync(zipPath, 'r');
  let entry: Entry;
  let dataStart: number;
  try {
    entry = findEntry(fd, member);
    const local = Buffer.alloc(30);
    readSync(fd, local, 0, 30, entry.localHeaderOffset);
    if (local.readUInt32LE(0) !== 0x04034b50) throw new Error('corrupt zip local header');
    dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    closeSync(fd);
  }
  if (entry.compressedSize === 0) throw new Error(`member ${member} is empty`);
  const input = createReadStream(zipPath, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  if (entry.method === 0) await pipeline(input, out);
  else if (entry.method === 8) await pipeline(input, createInflateRaw(), out);
  else throw new Error(`zip compression method ${entry.method} is not supported`);
}
