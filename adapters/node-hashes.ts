/**
 * Faster hashing for Node, installed into the core by importing this module
 * (the SQLite adapter does): ids with hash-wasm's BLAKE3 (WebAssembly) and
 * content hashes with Node's native SHA-256. Both are checked by the core
 * against its JavaScript hashes before use, so ids and hashes keep the same
 * values (INV-C03) whichever runtime computed them; only the speed differs.
 * Not for Workers, which refuse to compile WebAssembly at run time.
 */
import { hash } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { useFastBlake3, useNativeSha256 } from '../src/index.js';

useNativeSha256((text) => hash('sha256', text, 'hex'));

// 128 bits: the first 16 bytes of BLAKE3's output, what ids use.
const blake3 = await createBLAKE3(128);
useFastBlake3((bytes) => blake3.init().update(bytes).digest('hex'));
