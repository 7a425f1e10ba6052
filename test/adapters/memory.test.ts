import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { describeGraphStoreContract } from './contract.js';
import { describeModelBased } from './model.js';

describeGraphStoreContract('memory', () => createMemoryStore());
describeGraphStoreContract('memory', () => createMemoryStore(), { mode: 'streaming' });
describeModelBased('memory', () => createMemoryStore());
describeModelBased('memory', () => createMemoryStore(), { mode: 'streaming' });
