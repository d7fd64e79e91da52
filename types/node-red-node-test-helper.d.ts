// Types for node-red-node-test-helper 0.3 (it ships none): the part of its API our tests use.
declare module 'node-red-node-test-helper' {
  import type { Node, NodeAPI, NodeMessage } from 'node-red';

  export interface TestFlowNode {
    id: string;
    type: string;
    z?: string;
    name?: string;
    wires?: string[][];
    [key: string]: unknown;
  }

  export interface TestNode extends Node {
    receive(msg: NodeMessage & Record<string, unknown>): void;
    on(event: 'input', listener: (msg: NodeMessage & Record<string, unknown>) => void): this;
    on(event: 'call:error' | 'call:warn' | 'call:status' | 'call:log', listener: (call: { args: unknown[] }) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  type NodeModule = (red: NodeAPI) => void;

  interface Helper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    load(nodes: NodeModule | NodeModule[], flow: TestFlowNode[], credentials?: Record<string, unknown>): Promise<void>;
    load(nodes: NodeModule | NodeModule[], flow: TestFlowNode[], credentials: Record<string, unknown>, cb: () => void): void;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    clearFlows(): Promise<void>;
    startServer(done?: (err?: Error) => void): Promise<void>;
    stopServer(done?: (err?: Error) => void): Promise<void>;
    url(): string;
    settings(userSettings: Record<string, unknown>): void;
  }

  const helper: Helper;
  export = helper;
}
