/**
 * Node's native SHA-256 for content hashes and unit digests, installed into
 * the core by importing this module (the SQLite adapter does). The core
 * checks it against its JavaScript SHA-256 before use, so hashes keep the
 * same values whichever runtime computed them; only the speed differs. (Ids
 * need no help: the core's one-chunk BLAKE3 is fast in every runtime.)
 */
import { hash } from 'node:crypto';
import { useNativeSha256 } from '../src/adapter-kit.js';

useNativeSha256((text) => hash('sha256', text, 'hex'));
