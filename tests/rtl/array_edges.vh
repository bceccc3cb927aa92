// The edges of the PE grid, the same in pe_array.v and pe_array_os.v
// (docs/hardware.md, "Blocks"): the saboteur's flip function, the input skew
// chains (row r has r stages, stage 0 takes the feed; bits 0-7 a, 8 valid,
// 9 the row's tag) and the output de-skew chains (column c has C-1-c stages,
// stage 0 takes the bottom PE's output register from before the edge).
// Included inside the module after its register declarations; it needs
//   feed_a, feed_valid, flip_* (ports), the registers skew_a, skew_valid,
//   skew_propagate and deskew, the tag of each row's feed in
//   wire [R-1:0] feed_tag, and the bottom row's output registers in
//   wire signed [31:0] bottom[0:C-1];
// and it defines row_a, row_valid and row_propagate: what enters PE(r, 0).

  // The flip mask for register `index` of kind `kind` at this edge.
  function automatic [31:0] flip(input en, input [3:0] sel_kind, input [31:0] sel_index, input [31:0] mask,
                                 input [3:0] kind, input [31:0] index);
    flip = (en && sel_kind == kind && sel_index == index) ? mask : 32'd0;
  endfunction

  // What enters PE(r, 0): row 0 straight from the feed, row r >= 1 from the
  // last of its r skew stages.
  wire signed [7:0] row_a[0:R-1];
  wire row_valid[0:R-1];
  wire row_propagate[0:R-1];
  genvar er, es, ec;
  generate
    for (er = 0; er < R; er = er + 1) begin : skews
      if (er == 0) begin : feed
        assign row_a[er] = feed_a[7:0];
        assign row_valid[er] = feed_valid[0];
        assign row_propagate[er] = feed_tag[0];
      end else begin : chain
        localparam integer FIRST = (er * (er - 1)) / 2;
        assign row_a[er] = skew_a[FIRST+er-1];
        assign row_valid[er] = skew_valid[FIRST+er-1];
        assign row_propagate[er] = skew_propagate[FIRST+er-1];
        for (es = 0; es < er; es = es + 1) begin : stages
          /* verilator lint_off UNUSEDSIGNAL */
          wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd7, FIRST + es);  // bits 0-9 used
          /* verilator lint_on UNUSEDSIGNAL */
          always @(posedge clk) begin
            if (es == 0) begin
              skew_a[FIRST+es] <= feed_a[8*er+7:8*er] ^ m[7:0];
              skew_valid[FIRST+es] <= feed_valid[er] ^ m[8];
              skew_propagate[FIRST+es] <= feed_tag[er] ^ m[9];
            end else begin
              skew_a[FIRST+es] <= skew_a[FIRST+es-1] ^ m[7:0];
              skew_valid[FIRST+es] <= skew_valid[FIRST+es-1] ^ m[8];
              skew_propagate[FIRST+es] <= skew_propagate[FIRST+es-1] ^ m[9];
            end
          end
        end
      end
    end
    for (ec = 0; ec < C; ec = ec + 1) begin : deskews
      localparam integer FIRST = ec * (C - 1) - (ec * (ec - 1)) / 2;
      localparam integer STAGES = C - 1 - ec;
      for (es = 0; es < STAGES; es = es + 1) begin : stages
        wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd8, FIRST + es);
        always @(posedge clk)
          if (es == 0) deskew[FIRST+es] <= bottom[ec] ^ m;
          else deskew[FIRST+es] <= deskew[FIRST+es-1] ^ m;
      end
      if (STAGES == 0) begin : direct
        assign aligned[32*ec+31:32*ec] = bottom[ec];
      end else begin : staged
        assign aligned[32*ec+31:32*ec] = deskew[FIRST+STAGES-1];
      end
    end
  endgenerate

  // Power-on state of the edges: zero (the model resets them before a layer).
  integer edge_i;
  initial begin
    for (edge_i = 0; edge_i < SK; edge_i = edge_i + 1) begin
      skew_a[edge_i] = 0; skew_valid[edge_i] = 0; skew_propagate[edge_i] = 0;
    end
    for (edge_i = 0; edge_i < DK; edge_i = edge_i + 1) deskew[edge_i] = 0;
  end
