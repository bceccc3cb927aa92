// Testbench of pe_array_os: streams one output-stationary fold with the
// schedule of docs/hardware.md ("Output-stationary"; one fold: K-step i in
// schedule cycle i into every used row, the weight of column c in cycle
// i + c into the top, the drain tag of row r in cycle K + r), applies at most
// one bit flip through the saboteur port, and writes the CSV trace of
// docs/traces.md (array registers only) after every rising edge. The
// stimulus file (`isimdl fold-trace --dataflow os --stimulus`: M <= R rows
// and N <= C columns held, K streamed), the run and the trace are
// tb_common.vh's; this file holds the fold's feed, its checks and out.
`timescale 1ns / 1ps
/* verilator lint_off WIDTH */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off BLKSEQ */
module tb_pe_array_os;
  parameter R = 4;
  parameter C = 4;
  localparam NAME = "tb_pe_array_os";
  localparam MAXW = 1 << 20, MAXA = 1 << 20;

  reg clk = 0;
  reg [8*R-1:0] feed_a;
  reg [R-1:0] feed_valid, feed_drain;
  reg [8*C-1:0] feed_d;
  reg flip_en;
  reg [3:0] flip_kind;
  reg [31:0] flip_index, flip_mask;
  wire [32*C-1:0] aligned;

  pe_array_os #(.R(R), .C(C)) dut (
      .clk(clk), .feed_a(feed_a), .feed_valid(feed_valid), .feed_drain(feed_drain), .feed_d(feed_d),
      .flip_en(flip_en), .flip_kind(flip_kind), .flip_index(flip_index), .flip_mask(flip_mask), .aligned(aligned));

  `include "tb_common.vh"

  // The feed of schedule cycle t.
  task set_feed(input integer tf);
    integer r2, c2;
    begin
      feed_a = 0;
      feed_valid = 0;
      feed_drain = 0;
      feed_d = 0;
      if (tf >= 0 && tf < K)
        for (r2 = 0; r2 < M; r2 = r2 + 1) begin
          feed_a[8*r2+:8] = A[r2*K+tf];
          feed_valid[r2] = 1;
        end
      for (c2 = 0; c2 < N; c2 = c2 + 1)
        if (tf - c2 >= 0 && tf - c2 < K) feed_d[8*c2+:8] = W[c2*K+tf-c2];
      if (tf >= K && tf < K + R) feed_drain[tf-K] = 1;
    end
  endtask

  // One fold: the last result row (M - 1) is written R + C + 2 edges after
  // its drain time K + M - 1.
  task check_stimulus;
    begin
      if (fr != R || fc != C || M > R || N > C) begin
        $fatal(1, "tb_pe_array_os: stimulus is for a %0dx%0d array (M %0d, N %0d, K %0d); this build is %0dx%0d", fr,
                 fc, M, N, K, R, C);
      end
      if (edges != K + M + R + C + 2) begin
        $fatal(1, "tb_pe_array_os: the stimulus says %0d cycles; one fold of K %0d and M %0d takes %0d", edges, K, M,
                 K + M + R + C + 2);
      end
    end
  endtask

  task write_cell_trace(input integer ec, input integer pe);
    $fdisplay(out, "%0d,array.pe_%0d_%0d.out,%0d", ec, pe / C, pe % C, dut.out[pe]);
  endtask

endmodule
