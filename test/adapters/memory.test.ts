import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { describeGraphStoreContract } from './contract.js';
import { describeModelBased } from './model.js';

describeGraphStoreContract('memory', () => createMemoryStore());
describeModelBased('memory', () => createMemoryStore());
