// Testbench of pe_array_os: streams one output-stationary fold with the
// schedule of docs/hardware.md ("Output-stationary"; one fold: K-step i in
// schedule cycle i into every used row, the weight of column c in cycle
// i + c into the top, the drain tag of row r in cycle K + r), applies at most
// one bit flip through the saboteur port, and writes the CSV trace of
// docs/traces.md (array registers only) after every rising edge. Edge e
// consumes the feed of schedule cycle e-1, as in tb_pe_array.v.
//
// Stimulus file (+stimulus=FILE), as `isimdl fold-trace --dataflow os
// --stimulus` writes it:
//   R C M K N EDGES                                  (M <= R rows, N <= C columns held, K streamed)
//   FAULT_CYCLE FAULT_KIND FAULT_INDEX FAULT_MASK    (FAULT_CYCLE -1: none)
//   W[n][k] for n < N, k < K                         (N*K values)
//   A[m][k] for m < M, k < K                         (M*K values)
// Trace: +trace=FILE; +notrace runs without writing one.
`timescale 1ns / 1ps
/* verilator lint_off WIDTH */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off BLKSEQ */
module tb_pe_array_os;
  parameter R = 4;
  parameter C = 4;
  localparam MAXV = 1 << 20;

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

  integer W[0:MAXV-1];
  integer A[0:MAXV-1];
  integer fr, fc, M, K, N, edges, fault_cycle, fault_kind, fault_index, fault_mask;
  integer fd, out, e, r, c, s, n, i, dummy;
  reg [1023:0] stimulus_path, trace_path;
  integer tracing;

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

  task write_trace(input integer ec);
    begin
      for (i = 0; i < R * C; i = i + 1) begin
        r = i / C;
        c = i % C;
        $fdisplay(out, "%0d,array.pe_%0d_%0d.a,%0d", ec, r, c, dut.a[i]);
        $fdisplay(out, "%0d,array.pe_%0d_%0d.psum,%0d", ec, r, c, dut.psum[i]);
        $fdisplay(out, "%0d,array.pe_%0d_%0d.d,%0d", ec, r, c, dut.d[i]);
        $fdisplay(out, "%0d,array.pe_%0d_%0d.propagate,%0d", ec, r, c, dut.propagate[i]);
        $fdisplay(out, "%0d,array.pe_%0d_%0d.valid,%0d", ec, r, c, dut.valid[i]);
        $fdisplay(out, "%0d,array.pe_%0d_%0d.out,%0d", ec, r, c, dut.out[i]);
      end
      for (r = 1; r < R; r = r + 1)
        for (s = 0; s < r; s = s + 1) begin
          i = r * (r - 1) / 2 + s;
          $fdisplay(out, "%0d,array.skew_%0d_%0d.a,%0d", ec, r, s, dut.skew_a[i]);
          $fdisplay(out, "%0d,array.skew_%0d_%0d.valid,%0d", ec, r, s, dut.skew_valid[i]);
          $fdisplay(out, "%0d,array.skew_%0d_%0d.propagate,%0d", ec, r, s, dut.skew_propagate[i]);
        end
      i = 0;
      for (c = 0; c < C - 1; c = c + 1)
        for (s = 0; s < C - 1 - c; s = s + 1) begin
          $fdisplay(out, "%0d,array.deskew_%0d_%0d.psum,%0d", ec, c, s, dut.deskew[i]);
          i = i + 1;
        end
    end
  endtask

  initial begin
    if (!$value$plusargs("stimulus=%s", stimulus_path)) begin
      $fatal(1, "tb_pe_array_os: give +stimulus=FILE");
    end
    if (!$value$plusargs("trace=%s", trace_path)) trace_path = "rtl_trace.csv";
    fd = $fopen(stimulus_path, "r");
    if (fd == 0) begin
      $fatal(1, "tb_pe_array_os: cannot open %0s", stimulus_path);
    end
    dummy = $fscanf(fd, "%d %d %d %d %d %d", fr, fc, M, K, N, edges);
    dummy = $fscanf(fd, "%d %d %d %d", fault_cycle, fault_kind, fault_index, fault_mask);
    if (fr != R || fc != C || M > R || N > C || N * K > MAXV || M * K > MAXV) begin
      $fatal(1, "tb_pe_array_os: stimulus is for a %0dx%0d array (M %0d, N %0d, K %0d); this build is %0dx%0d", fr, fc,
               M, N, K, R, C);
    end
    // One fold: the last result row (M - 1) is written R + C + 2 edges after
    // its drain time K + M - 1.
    if (edges != K + M + R + C + 2) begin
      $fatal(1, "tb_pe_array_os: the stimulus says %0d cycles; one fold of K %0d and M %0d takes %0d", edges, K, M,
               K + M + R + C + 2);
    end
    for (n = 0; n < N * K; n = n + 1) dummy = $fscanf(fd, "%d", W[n]);
    for (n = 0; n < M * K; n = n + 1) dummy = $fscanf(fd, "%d", A[n]);
    $fclose(fd);
    tracing = !$test$plusargs("notrace");
    if (tracing) begin
      out = $fopen(trace_path, "w");
      $fdisplay(out, "cycle,register,value");
    end
    flip_en = 0;
    flip_kind = 0;
    flip_index = 0;
    flip_mask = 0;
    set_feed(-1);
    for (e = 0; e < edges; e = e + 1) begin
      set_feed(e - 1);
      flip_en = e == fault_cycle;
      flip_kind = fault_kind;
      flip_index = fault_index;
      flip_mask = fault_mask;
      #5 clk = 1;
      #1 if (tracing) write_trace(e);
      #4 clk = 0;
    end
    if (tracing) $fclose(out);
    $finish;
  end
endmodule
