import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';

describeGraphStoreContract('memory', () => createMemoryStore());
describeGraphStoreContract('memory', () => createMemoryStore(), { mode: 'streaming' });
describeModelBased('memory', () => createMemoryStore());
describeModelBased('memory', () => createMemoryStore(), { mode: 'streaming' });
