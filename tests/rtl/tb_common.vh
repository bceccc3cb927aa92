// What tb_pe_array.v and tb_pe_array_os.v share: reading the stimulus file
// `isimdl fold-trace --stimulus` writes, running its edges with at most one
// flip through the saboteur port, and writing the CSV trace of
// docs/traces.md (array registers only) after every rising edge. The
// controller is one boundary register ahead of the array: edge e consumes
// the feed of schedule cycle e-1.
//
// Stimulus file (+stimulus=FILE), whitespace-separated decimal integers:
//   R C M K N EDGES
//   FAULT_CYCLE FAULT_KIND FAULT_INDEX FAULT_MASK    (FAULT_CYCLE -1: none)
//   W[n][k] for n < N, k < K                         (N*K values)
//   A[m][k] for m < M, k < K                         (M*K values)
// Trace: +trace=FILE; +notrace runs without writing one (for speed runs);
// +cycles=N simulates only the first N edges.
//
// Included inside the testbench module after its dut; the module defines
// (after the include: the tasks are called, not declared, here)
//   localparam NAME (its name, for messages), MAXW and MAXA (operand sizes),
//   task check_stimulus — $fatal unless the header fits this build and fold,
//   task set_feed(input integer tf) — the feed of schedule cycle tf,
//   task write_cell_trace(input integer ec, input integer i) — the trace
//     lines of PE i's registers that only its cell has.

  integer W[0:MAXW-1];
  integer A[0:MAXA-1];
  integer fr, fc, M, K, N, edges, fault_cycle, fault_kind, fault_index, fault_mask;
  integer fd, out, e, r, c, s, n, i, dummy;
  reg [1023:0] stimulus_path, trace_path;
  integer tracing, limit;

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
        write_cell_trace(ec, i);
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
      $fatal(1, "%0s: give +stimulus=FILE", NAME);
    end
    if (!$value$plusargs("trace=%s", trace_path)) trace_path = "rtl_trace.csv";
    fd = $fopen(stimulus_path, "r");
    if (fd == 0) begin
      $fatal(1, "%0s: cannot open %0s", NAME, stimulus_path);
    end
    dummy = $fscanf(fd, "%d %d %d %d %d %d", fr, fc, M, K, N, edges);
    dummy = $fscanf(fd, "%d %d %d %d", fault_cycle, fault_kind, fault_index, fault_mask);
    if (N * K > MAXW || M * K > MAXA) begin
      $fatal(1, "%0s: the stimulus's operands (M %0d, N %0d, K %0d) exceed this build's %0d and %0d values", NAME, M, N, K,
               MAXA, MAXW);
    end
    check_stimulus;
    for (n = 0; n < N * K; n = n + 1) dummy = $fscanf(fd, "%d", W[n]);
    for (n = 0; n < M * K; n = n + 1) dummy = $fscanf(fd, "%d", A[n]);
    $fclose(fd);
    tracing = !$test$plusargs("notrace");
    if ($value$plusargs("cycles=%d", limit) && limit < edges) edges = limit;
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
