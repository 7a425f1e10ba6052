/** The query contract and the randomized query model on the memory reference itself (against the naive evaluator). */
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { describeQueryContract, describeQueryModel } from 'parallax-edge/testing';

describeQueryContract('memory', () => createMemoryStore());

describeQueryModel('memory', () => createMemoryStore(), { numRuns: 200 });
