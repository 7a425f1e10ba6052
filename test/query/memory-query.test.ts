/** The query contract and the randomized query model on the memory reference itself (against the naive evaluator). */
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { describeQueryContract } from '../adapters/query-contract.js';

describeQueryContract('memory', () => createMemoryStore());
import { describeQueryModel } from '../adapters/query-model.js';

describeQueryModel('memory', () => createMemoryStore(), { numRuns: 200 });
